-- The contact's name (for the To: header) and the lead's IANA time zone (for its send window),
-- kept on the queue row so a worker needs no second lookup per e-mail.
ALTER TABLE email_queue ADD COLUMN recipient_name TEXT;
ALTER TABLE email_queue ADD COLUMN timezone TEXT;
