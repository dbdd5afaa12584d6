"""Import every area's models so the metadata (Alembic, create_all) knows every table."""
from lms.accounts.models import SigninFailure, User  # noqa: F401
from lms.audit.models import AuditEntry  # noqa: F401
from lms.crypto import DataKeyRotation  # noqa: F401
from lms.queue import TaskFailure  # noqa: F401
from lms.regions.models import Region  # noqa: F401
from lms.settings import Setting  # noqa: F401
from media.models import Asset, Rendition  # noqa: F401
from courses.models import Course, CourseRegion, Enrolment, Lesson, Programme, Question, Quiz, Skill  # noqa: F401
from lms.learning.models import Certificate, Heartbeat, Progress, QuizAttempt, Terminal  # noqa: F401
from search.models import SynonymGroup  # noqa: F401
from lms.households.models import Household, HouseholdImport, Member, MemberChange  # noqa: F401
from lms.skills.models import Attendance, ClassSession, OfflineClass, SkillAward, Trainee  # noqa: F401
from lms.stats.models import DirtyVillage, SkillRollup, SkillRollupBreakdown, SkillRollupMonth  # noqa: F401
from lms.deploy.models import WorkerHeartbeat  # noqa: F401
from lms.followup.models import Assignment, Deferral, RollupDay  # noqa: F401
