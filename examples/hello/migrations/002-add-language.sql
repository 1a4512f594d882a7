ALTER TABLE greetings ADD COLUMN language TEXT;
