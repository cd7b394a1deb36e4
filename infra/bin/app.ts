#!/usr/bin/env node
import { buildApp } from '../lib/build-app';
import { ConfigError } from '../lib/settings';

try {
  buildApp().app.synth();
} catch (e) {
  if (e instanceof ConfigError) {
    // A setting or tool problem: the message says what to do, a stack trace would only hide it.
    console.error(`slack-alarm-notifier infra: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
