"""The archive office at central: its own listener, users and pages (see `app.SCREENS`)."""
