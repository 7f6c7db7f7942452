-- What was spent on a case, for donor reports. The amount is kept as the
-- decimal string it was given and, for sums, in ten-thousandths of its
-- currency; the note is personal: sealed under the case's key (purpose
-- "expense:<id>:note"), set to NULL by a shred.
CREATE TABLE case_expenses (
    id TEXT PRIMARY KEY NOT NULL,
    case_id TEXT NOT NULL REFERENCES cases (id),
    category TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    amount_e4 INTEGER NOT NULL,
    spent_on DATE NOT NULL,
    note_sealed BLOB,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX case_expenses_case ON case_expenses (case_id, id);
CREATE INDEX case_expenses_spent_on ON case_expenses (spent_on, id);
