-- 0007: unknown-modem self-registration. A CM network whose unknown
-- modems get the walled garden may also let them register: the modem gets
-- the registration config (one CPE, reaching only ip6m), the CPE behind it
-- an address whose DNS answers every name with ip6m's registration page,
-- where the customer binds the modem with their account number and
-- registration code.
ALTER TABLE networks ADD COLUMN self_register INTEGER NOT NULL DEFAULT 0 CHECK (self_register IN (0, 1));
ALTER TABLE customers ADD COLUMN reg_code TEXT NOT NULL DEFAULT '';
UPDATE customers SET reg_code = upper(hex(randomblob(5)));
