"""stats and skills: skill awards, offline classes, skill-goal roll-ups

Revision ID: 0004_stats
Revises: c142b3aef99a
Create Date: 2026-11-28 18:43:36.692218

"""
from alembic import op
import sqlalchemy as sa

import lms.db


# revision identifiers, used by Alembic.
revision = '0004_stats'
down_revision = 'c142b3aef99a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stats_dirty_villages',
    sa.Column('village_code', sa.String(length=12), nullable=False),
    sa.Column('marked_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('village_code', name=op.f('pk_stats_dirty_villages'))
    )
    op.create_table('stats_rollup_breakdowns',
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('dimension', sa.String(length=8), nullable=False),
    sa.Column('value', sa.String(length=4), nullable=False),
    sa.Column('laborers', sa.Integer(), nullable=False),
    sa.Column('with_1', sa.Integer(), nullable=False),
    sa.Column('with_2', sa.Integer(), nullable=False),
    sa.Column('households', sa.Integer(), nullable=False),
    sa.Column('households_1', sa.Integer(), nullable=False),
    sa.Column('households_2', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('region_code', 'dimension', 'value', name=op.f('pk_stats_rollup_breakdowns'))
    )
    op.create_table('stats_rollup_months',
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('reached_1', sa.Integer(), nullable=False),
    sa.Column('reached_2', sa.Integer(), nullable=False),
    sa.Column('households_1', sa.Integer(), nullable=False),
    sa.Column('households_2', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('region_code', 'month', name=op.f('pk_stats_rollup_months'))
    )
    op.create_table('stats_rollups',
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('laborers', sa.Integer(), nullable=False),
    sa.Column('with_1', sa.Integer(), nullable=False),
    sa.Column('with_2', sa.Integer(), nullable=False),
    sa.Column('households', sa.Integer(), nullable=False),
    sa.Column('households_1', sa.Integer(), nullable=False),
    sa.Column('households_2', sa.Integer(), nullable=False),
    sa.Column('nonreg_learners', sa.Integer(), nullable=False),
    sa.Column('nonreg_1', sa.Integer(), nullable=False),
    sa.Column('nonreg_2', sa.Integer(), nullable=False),
    sa.Column('updated_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('region_code', name=op.f('pk_stats_rollups'))
    )
    op.create_table('offline_classes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('skill_id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=True),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('hours', sa.Float(), nullable=False),
    sa.Column('trainer_id', sa.Integer(), nullable=False),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], name=op.f('fk_offline_classes_programme_id_programmes')),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_offline_classes_region_code_regions')),
    sa.ForeignKeyConstraint(['skill_id'], ['skills.id'], name=op.f('fk_offline_classes_skill_id_skills')),
    sa.ForeignKeyConstraint(['trainer_id'], ['users.id'], name=op.f('fk_offline_classes_trainer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offline_classes'))
    )
    with op.batch_alter_table('offline_classes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offline_classes_programme_id'), ['programme_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_offline_classes_region_code'), ['region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_offline_classes_skill_id'), ['skill_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_offline_classes_trainer_id'), ['trainer_id'], unique=False)

    op.create_table('offline_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('hours', sa.Float(), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['offline_classes.id'], name=op.f('fk_offline_sessions_class_id_offline_classes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offline_sessions'))
    )
    with op.batch_alter_table('offline_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offline_sessions_class_id'), ['class_id'], unique=False)

    op.create_table('skill_awards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('region_code', sa.String(length=12), nullable=True),
    sa.Column('skill_id', sa.Integer(), nullable=False),
    sa.Column('evidence', sa.Enum('training_certificate', 'special_ability', 'skill_level', 'qualification', 'course_completion', 'trainer_signoff', name='award_evidence', native_enum=False, length=24), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=True),
    sa.Column('source', sa.Enum('course', 'offline_class', 'certificate_import', name='award_source', native_enum=False, length=24), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=True),
    sa.Column('offline_class_id', sa.Integer(), nullable=True),
    sa.Column('awarded_on', sa.Date(), nullable=False),
    sa.Column('certificate_number', sa.String(length=64), nullable=True),
    sa.Column('issuer', sa.String(length=100), nullable=True),
    sa.Column('awarded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('revoke_reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['awarded_by_id'], ['users.id'], name=op.f('fk_skill_awards_awarded_by_id_users')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_skill_awards_course_id_courses')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_skill_awards_member_id_members')),
    sa.ForeignKeyConstraint(['offline_class_id'], ['offline_classes.id'], name=op.f('fk_skill_awards_offline_class_id_offline_classes')),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_skill_awards_region_code_regions')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_skill_awards_revoked_by_id_users')),
    sa.ForeignKeyConstraint(['skill_id'], ['skills.id'], name=op.f('fk_skill_awards_skill_id_skills')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_skill_awards_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_skill_awards')),
    sa.UniqueConstraint('certificate_number', name=op.f('uq_skill_awards_certificate_number'))
    )
    with op.batch_alter_table('skill_awards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_skill_awards_course_id'), ['course_id'], unique=False)
        batch_op.create_index('ix_skill_awards_member_skill', ['member_id', 'skill_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_skill_awards_offline_class_id'), ['offline_class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_skill_awards_region_code'), ['region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_skill_awards_skill_id'), ['skill_id'], unique=False)
        batch_op.create_index('ix_skill_awards_user_skill', ['user_id', 'skill_id'], unique=False)

    op.create_table('offline_trainees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=True),
    sa.Column('assessed_at', lms.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('assessed_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('photo_path', sa.String(length=200), nullable=True),
    sa.Column('award_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['assessed_by_id'], ['users.id'], name=op.f('fk_offline_trainees_assessed_by_id_users')),
    sa.ForeignKeyConstraint(['award_id'], ['skill_awards.id'], name=op.f('fk_offline_trainees_award_id_skill_awards')),
    sa.ForeignKeyConstraint(['class_id'], ['offline_classes.id'], name=op.f('fk_offline_trainees_class_id_offline_classes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_offline_trainees_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offline_trainees')),
    sa.UniqueConstraint('class_id', 'member_id', name=op.f('uq_offline_trainees_class_id_member_id')),
    sa.UniqueConstraint('class_id', 'number', name=op.f('uq_offline_trainees_class_id_number'))
    )
    with op.batch_alter_table('offline_trainees', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offline_trainees_class_id'), ['class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_offline_trainees_member_id'), ['member_id'], unique=False)

    op.create_table('offline_attendance',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('present', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['offline_sessions.id'], name=op.f('fk_offline_attendance_session_id_offline_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['trainee_id'], ['offline_trainees.id'], name=op.f('fk_offline_attendance_trainee_id_offline_trainees'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'trainee_id', name=op.f('pk_offline_attendance'))
    )


def downgrade():
    op.drop_table('offline_attendance')
    with op.batch_alter_table('offline_trainees', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offline_trainees_member_id'))
        batch_op.drop_index(batch_op.f('ix_offline_trainees_class_id'))

    op.drop_table('offline_trainees')
    with op.batch_alter_table('skill_awards', schema=None) as batch_op:
        batch_op.drop_index('ix_skill_awards_user_skill')
        batch_op.drop_index(batch_op.f('ix_skill_awards_skill_id'))
        batch_op.drop_index(batch_op.f('ix_skill_awards_region_code'))
        batch_op.drop_index(batch_op.f('ix_skill_awards_offline_class_id'))
        batch_op.drop_index('ix_skill_awards_member_skill')
        batch_op.drop_index(batch_op.f('ix_skill_awards_course_id'))

    op.drop_table('skill_awards')
    with op.batch_alter_table('offline_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offline_sessions_class_id'))

    op.drop_table('offline_sessions')
    with op.batch_alter_table('offline_classes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offline_classes_trainer_id'))
        batch_op.drop_index(batch_op.f('ix_offline_classes_skill_id'))
        batch_op.drop_index(batch_op.f('ix_offline_classes_region_code'))
        batch_op.drop_index(batch_op.f('ix_offline_classes_programme_id'))

    op.drop_table('offline_classes')
    op.drop_table('stats_rollups')
    op.drop_table('stats_rollup_months')
    op.drop_table('stats_rollup_breakdowns')
    op.drop_table('stats_dirty_villages')
