-- Ratings (好差评): one per finished ticket; a bad rating opens a follow-up with deadlines.

CREATE TABLE ratings (
    id          bigserial PRIMARY KEY,
    ticket_id   text NOT NULL UNIQUE REFERENCES tickets (id),   -- 一次一评
    hall        text NOT NULL REFERENCES halls (id),
    window_no   integer,
    staff_id    text,
    level       smallint NOT NULL CHECK (level BETWEEN 1 AND 5), -- 5 非常满意 … 1 非常不满意
    dimensions  jsonb NOT NULL,
    labels      jsonb NOT NULL,
    channel     text NOT NULL CHECK (channel IN ('tablet', 'phone')),
    device      text,
    rated_at    timestamptz NOT NULL
);
CREATE INDEX ratings_hall_time ON ratings (hall, rated_at);

CREATE TABLE follow_ups (
    id               text PRIMARY KEY,
    hall             text NOT NULL REFERENCES halls (id),
    ticket_id        text NOT NULL UNIQUE REFERENCES tickets (id),
    rating_id        bigint NOT NULL REFERENCES ratings (id),
    owner            text,                      -- the hall's manager (staff number)
    status           text NOT NULL DEFAULT 'open'
                     CHECK (status IN ('open', 'called_back', 'rectified', 'closed')),
    callback_due     timestamptz NOT NULL,      -- call the citizen back within 1 day
    rectify_due      timestamptz NOT NULL,      -- rectify and report within 15 days
    called_back_at   timestamptz,
    rectified_at     timestamptz,
    closed_at        timestamptz,
    notes            jsonb NOT NULL DEFAULT '[]',
    citizen_level    smallint CHECK (citizen_level BETWEEN 1 AND 5),
    citizen_rated_at timestamptz,
    created_at       timestamptz NOT NULL
);
CREATE INDEX follow_ups_hall_status ON follow_ups (hall, status);
