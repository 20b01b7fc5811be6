-- Claims read the queue through jobs_queued_by_owner (users taking turns) and counts use
-- jobs_by_status: jobs_queue is read by nothing, yet every insert, claim and dismissal kept it.
DROP INDEX jobs_queue;
