"""Background jobs run by PTB's JobQueue (APScheduler); their state lives in the database."""
