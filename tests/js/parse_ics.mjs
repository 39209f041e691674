// Parse .ics files with ical.js (the parser of Thunderbird) and print what a calendar
// client would see, as JSON, for tests/test_calendar_feed.py.
//
// Usage: node tests/js/parse_ics.mjs FILE.ics [FILE.ics ...]
// Output: [{file, calendar: {...}, events: [{uid, summary, start, ...}]}] in argument order.
// Any parse error: the message on stderr and exit status 1.

import { readFileSync } from "node:fs";
import ICAL from "ical.js";

function text(component, name) {
  const value = component.getFirstPropertyValue(name);
  return value === null || value === undefined ? null : value.toString();
}

function time(value) {
  return value === null || value === undefined ? null : { value: value.toString(), isDate: Boolean(value.isDate) };
}

function calendarOf(component) {
  const refresh = component.getFirstProperty("refresh-interval");
  return {
    name: component.name,
    prodid: text(component, "prodid"),
    version: text(component, "version"),
    "x-wr-calname": text(component, "x-wr-calname"),
    "x-wr-timezone": text(component, "x-wr-timezone"),
    "refresh-interval": refresh ? refresh.getFirstValue().toString() : null,
    "refresh-interval-type": refresh ? refresh.type : null,
    "x-published-ttl": text(component, "x-published-ttl"),
    method: component.hasProperty("method"),
  };
}

function eventOf(component) {
  const event = new ICAL.Event(component);
  return {
    uid: event.uid,
    summary: event.summary,
    description: event.description,
    start: time(event.startDate),
    end: time(event.endDate),
    sequence: event.sequence,
    dtstamp: text(component, "dtstamp"),
    "last-modified": text(component, "last-modified"),
    url: text(component, "url"),
    recurring: event.isRecurring(),
    alarms: component.getAllSubcomponents("valarm").map((alarm) => {
      const trigger = alarm.getFirstProperty("trigger");
      return {
        action: text(alarm, "action"),
        trigger: trigger ? trigger.getFirstValue().toString() : null,
        type: trigger ? trigger.type : null,
      };
    }),
  };
}

function parse(file) {
  const jcal = ICAL.parse(readFileSync(file, "utf8"));
  const calendar = new ICAL.Component(jcal);
  if (calendar.name !== "vcalendar") {
    throw new Error(`${file}: the top component is ${calendar.name}, not vcalendar`);
  }
  return {
    file,
    calendar: calendarOf(calendar),
    events: calendar.getAllSubcomponents("vevent").map(eventOf),
  };
}

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write("usage: node parse_ics.mjs FILE.ics [FILE.ics ...]\n");
  process.exit(2);
}
try {
  process.stdout.write(JSON.stringify(files.map(parse)) + "\n");
} catch (error) {
  process.stderr.write(`${error && error.message ? error.message : error}\n`);
  process.exit(1);
}
