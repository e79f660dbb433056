-- Complaints (投诉, domain/complaints.py): taken from the phone page of a visit, the hall's poster
-- page or by a manager (phone, in person); received → accepted/declined → investigating →
-- resolved → replied → archived, each step with its owner, time and deadline (`due`: the end of
-- the current step's last working day). `steps` keeps every step in order (who, when, what, the
-- due it had); each step is also a ledger event of the hall, which never carries the contact.
-- The contact phone is set to NULL after the retention period (contact_erased_at), steps kept.

CREATE TABLE complaints (
    id                text PRIMARY KEY,
    hall              text NOT NULL REFERENCES halls (id),
    secret            text NOT NULL UNIQUE,        -- the complainant's private status link
    channel           text NOT NULL CHECK (channel IN ('ticket', 'poster', 'phone', 'in_person')),
    category          text NOT NULL CHECK (category IN ('attitude', 'efficiency', 'policy', 'environment', 'other')),
    content           text NOT NULL,
    ticket_id         text REFERENCES tickets (id),
    window_no         integer,
    staff_id          text,                        -- the staff member the complaint names
    contact           text,                        -- phone, only with consent; NULL once erased
    contact_erased_at timestamptz,
    state             text NOT NULL DEFAULT 'received' CHECK (state IN
                        ('received', 'accepted', 'declined', 'investigating', 'resolved', 'replied', 'archived')),
    owner             text,                        -- the manager who accepted it
    assignee          text,                        -- the investigator
    due               timestamptz,                 -- the current step's deadline; NULL when closed
    decline_reason    text,
    findings          text,
    measures          text,
    reply_how         text,
    replied_at        timestamptz,                 -- when the complainant was answered
    answer            text,
    rating            text CHECK (rating IN ('satisfied', 'dissatisfied')),
    rated_at          timestamptz,
    created_by        text,                        -- the manager who took it by phone or in person
    created_at        timestamptz NOT NULL,
    closed_at         timestamptz,                 -- archived or declined
    steps             jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX complaints_hall ON complaints (hall, created_at);
CREATE INDEX complaints_open_due ON complaints (hall, due) WHERE closed_at IS NULL;
CREATE INDEX complaints_closed ON complaints (closed_at) WHERE contact IS NOT NULL;
