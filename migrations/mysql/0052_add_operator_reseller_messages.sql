-- Whether berth messages the travellers of an operator's reseller bookings: 'never' (the
-- reseller tells them itself), 'on_request' (an email receipt when the reseller asks for one)
-- or 'always' (email and SMS whenever the contact has them).
ALTER TABLE operators ADD COLUMN reseller_messages VARCHAR(16) NOT NULL DEFAULT 'on_request';
