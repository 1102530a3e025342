-- 0004: plan versions. Every save of a plan that changes it appends the
-- whole plan as its next version, so an operator can see what changed,
-- when and by whom, and roll back. Versions are never rewritten; a rollback
-- is a new version equal to an old one.
CREATE TABLE plan_versions (
	plan_id      INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,
	version      INTEGER NOT NULL CHECK (version >= 1),
	name         TEXT NOT NULL,
	description  TEXT NOT NULL DEFAULT '',
	config       TEXT NOT NULL DEFAULT '',
	mta_config   TEXT NOT NULL DEFAULT '',
	max_cpe      INTEGER NOT NULL,
	actor        TEXT NOT NULL,
	note         TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (plan_id, version)
) STRICT, WITHOUT ROWID;

-- The plans that exist become their own version 1.
INSERT INTO plan_versions(plan_id, version, name, description, config, mta_config, max_cpe, actor, note, created_at)
	SELECT id, 1, name, description, config, mta_config, max_cpe, 'migration', 'as found when versions began', updated_at FROM plans;
