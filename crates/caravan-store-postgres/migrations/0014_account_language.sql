-- The language an officer chose for the pages (issue 9: English, Uzbek Latin, Russian,
-- switchable per user). NULL: not chosen; the browser's Accept-Language decides.
ALTER TABLE access_accounts ADD COLUMN language TEXT
    CHECK (language IS NULL OR language IN ('en', 'uz', 'ru'));
