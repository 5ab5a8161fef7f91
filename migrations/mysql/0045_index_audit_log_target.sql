-- A booking's history in the console reads the audit entries of one target.
CREATE INDEX audit_log_target ON audit_log (operator_id, target);
