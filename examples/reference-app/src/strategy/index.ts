import { definePlugin, TOKENS } from '@cwts/core';
import { parseFollowerSettings, WhaleFollower } from './whale-follower.js';

export { WhaleFollower, parseFollowerSettings, DEFAULT_FOLLOWER_SETTINGS, type FollowerSettings } from './whale-follower.js';

/** `[strategy] plugin = "../dist/strategy/index.js"`: follow whale flow with small paper orders. */
export const plugin = definePlugin({
  name: '@cwts/reference-app/strategy',
  kind: 'strategy',
  // The core API this plugin was built against and needs, as a literal. Never CORE_API_VERSION:
  // that is the installed core's (a peer dependency), so it would claim whatever core it is
  // installed beside and the loader's version check could never refuse it (docs/versioning.md).
  coreApi: '1.0',
  register({ registrar, config }) {
    const settings = parseFollowerSettings(config);
    registrar.factory(TOKENS.Strategy, (c) => new WhaleFollower(settings, c.resolve(TOKENS.Logger).child({ strategy: 'whale-follower' })));
  },
});
