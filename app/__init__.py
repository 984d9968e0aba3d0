"""The application layer: settings, the command line and (later) the web service."""
