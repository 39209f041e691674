"""The web app (embedded mode): health, a status page, and a hook to run a plan now."""
