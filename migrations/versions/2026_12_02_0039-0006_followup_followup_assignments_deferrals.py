"""followup: training assignments, deferrals (暂缓) and the case figures of the roll-ups

Revision ID: 0006_followup
Revises: 0005_job_outbox
Create Date: 2026-12-02 00:39:17.153707

"""
from alembic import op
import sqlalchemy as sa

import lms.db


# revision identifiers, used by Alembic.
revision = '0006_followup'
down_revision = '0005_job_outbox'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('followup_rollup_days',
    sa.Column('name', sa.String(length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_followup_rollup_days'))
    )
    op.create_table('followup_deferrals',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('village_code', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Enum('working_away', 'illness', 'in_school', 'frail', 'other', name='deferral_reason', native_enum=False, length=16), nullable=False),
    sa.Column('reason_text', sa.Text(), nullable=False),
    sa.Column('review_on', sa.Date(), nullable=False),
    sa.Column('deferred_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['deferred_by_id'], ['users.id'], name=op.f('fk_followup_deferrals_deferred_by_id_users')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_followup_deferrals_member_id_members')),
    sa.ForeignKeyConstraint(['village_code'], ['regions.code'], name=op.f('fk_followup_deferrals_village_code_regions')),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_followup_deferrals'))
    )
    with op.batch_alter_table('followup_deferrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followup_deferrals_review_on'), ['review_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_deferrals_village_code'), ['village_code'], unique=False)

    op.create_table('followup_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('village_code', sa.String(length=12), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=True),
    sa.Column('offline_class_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', lms.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['users.id'], name=op.f('fk_followup_assignments_assigned_by_id_users')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_followup_assignments_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_followup_assignments_member_id_members')),
    sa.ForeignKeyConstraint(['offline_class_id'], ['offline_classes.id'], name=op.f('fk_followup_assignments_offline_class_id_offline_classes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['village_code'], ['regions.code'], name=op.f('fk_followup_assignments_village_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followup_assignments')),
    sa.UniqueConstraint('member_id', 'course_id', name=op.f('uq_followup_assignments_member_id_course_id')),
    sa.UniqueConstraint('member_id', 'offline_class_id', name=op.f('uq_followup_assignments_member_id_offline_class_id'))
    )
    with op.batch_alter_table('followup_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followup_assignments_assigned_by_id'), ['assigned_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_assignments_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_assignments_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_assignments_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_assignments_offline_class_id'), ['offline_class_id'], unique=False)
        batch_op.create_index('ix_followup_assignments_village_due', ['village_code', 'due_on'], unique=False)

    with op.batch_alter_table('stats_rollups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assigned_1', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('overdue_1', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('deferred_1', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('assigned_2', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('overdue_2', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('deferred_2', sa.Integer(), server_default='0', nullable=False))



def downgrade():
    with op.batch_alter_table('stats_rollups', schema=None) as batch_op:
        batch_op.drop_column('deferred_2')
        batch_op.drop_column('overdue_2')
        batch_op.drop_column('assigned_2')
        batch_op.drop_column('deferred_1')
        batch_op.drop_column('overdue_1')
        batch_op.drop_column('assigned_1')

    with op.batch_alter_table('followup_assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_followup_assignments_village_due')
        batch_op.drop_index(batch_op.f('ix_followup_assignments_offline_class_id'))
        batch_op.drop_index(batch_op.f('ix_followup_assignments_member_id'))
        batch_op.drop_index(batch_op.f('ix_followup_assignments_due_on'))
        batch_op.drop_index(batch_op.f('ix_followup_assignments_course_id'))
        batch_op.drop_index(batch_op.f('ix_followup_assignments_assigned_by_id'))

    op.drop_table('followup_assignments')
    with op.batch_alter_table('followup_deferrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followup_deferrals_village_code'))
        batch_op.drop_index(batch_op.f('ix_followup_deferrals_review_on'))

    op.drop_table('followup_deferrals')
    op.drop_table('followup_rollup_days')
