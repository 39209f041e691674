"""Calendars of deadlines: what an event says (events.py) and its iCalendar bytes (ics.py),
both pure; which obligations a feed holds and the cache of their events live in
services/read/calendar_feed.py, the subscriptions in services/commands/feeds.py."""
