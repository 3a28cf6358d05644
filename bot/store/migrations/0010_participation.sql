-- Participants share power (issue #14): moderation of their suggestions and
-- participatory budgets. A suggestion itself is a SuggestionMade event (its text is in
-- the event's payload, so erasure blanks it with every other event of the person);
-- this table holds only the coordinators' decision about it, which names nobody.
CREATE TABLE suggestion_decisions (
    suggestion_id INTEGER PRIMARY KEY,             -- the SuggestionMade event's id
    status        TEXT NOT NULL,                   -- accepted / merged / rejected
    merged_into   INTEGER,                         -- for merged: the suggestion kept
    reason        TEXT,                            -- for rejected: told to the suggester
    label         TEXT,                            -- the option text a vote shows
    decided_at    TEXT NOT NULL,
    decided_by    TEXT NOT NULL DEFAULT '',
    round_id      TEXT                             -- the vote round it went into
);

-- A participatory budget: projects with costs, voted on in a round (--budget ID).
CREATE TABLE budgets (
    id         TEXT PRIMARY KEY,
    title      TEXT NOT NULL,
    total      INTEGER NOT NULL,
    currency   TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE budget_projects (
    budget_id   TEXT NOT NULL REFERENCES budgets (id),
    id          TEXT NOT NULL,                     -- p1, p2 … in the order of the CSV
    title       TEXT NOT NULL,
    cost        INTEGER NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    position    INTEGER NOT NULL,
    PRIMARY KEY (budget_id, id)
);

-- A finding in another language (findings publish F.md --translation cy=F.cy.md): the
-- people who speak it read the finding, "we did" and share-backs in it.
CREATE TABLE finding_translations (
    finding_id TEXT NOT NULL,
    locale     TEXT NOT NULL,
    title      TEXT NOT NULL,
    text       TEXT NOT NULL,
    changes    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (finding_id, locale)
);
