-- Satisfaction surveys (满意度调查, domain/surveys.py). A campaign runs a questionnaire of
-- config.toml in one hall from `starts` to `ends` (days, inclusive), sampling every `every`-th
-- finished visit: `finished_count` counts the hall's finishes while it runs, incremented under
-- the hall's lock in the finish's own transaction, so the rule holds across server processes.
-- The questionnaire is copied at the start: results stay readable when config.toml changes.

CREATE TABLE survey_campaigns (
    id              text PRIMARY KEY,
    hall            text NOT NULL REFERENCES halls (id),
    questionnaire   text NOT NULL,
    title           text NOT NULL,
    questions       jsonb NOT NULL,
    starts          date NOT NULL,
    ends            date NOT NULL CHECK (ends >= starts),
    every           integer NOT NULL CHECK (every >= 1),    -- 1: everyone
    finished_count  integer NOT NULL DEFAULT 0,
    sampled_count   integer NOT NULL DEFAULT 0,
    state           text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'ended')),
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL,
    ended_by        text,
    ended_at        timestamptz
);
CREATE INDEX survey_campaigns_hall ON survey_campaigns (hall, starts);

-- A sampled visit: the ticket may answer once. `answered` has no time, so the answer below
-- cannot be matched to the visit by when it came.
CREATE TABLE survey_invitations (
    ticket_id   text PRIMARY KEY REFERENCES tickets (id),
    campaign    text NOT NULL REFERENCES survey_campaigns (id),
    answered    boolean NOT NULL DEFAULT false
);
CREATE INDEX survey_invitations_campaign ON survey_invitations (campaign);

-- Answers: anonymous (no ticket, no window, no staff, no time of day), a random id.
CREATE TABLE survey_answers (
    id          text PRIMARY KEY,
    campaign    text NOT NULL REFERENCES survey_campaigns (id),
    hall        text NOT NULL REFERENCES halls (id),
    service     text NOT NULL,
    day         date NOT NULL,
    channel     text NOT NULL CHECK (channel IN ('phone', 'tablet')),
    answers     jsonb NOT NULL
);
CREATE INDEX survey_answers_campaign ON survey_answers (campaign, day);
