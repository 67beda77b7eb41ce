import { CORE_API_VERSION, definePlugin, TOKENS } from '@cwts/core';
import { parseFollowerSettings, WhaleFollower } from './whale-follower.js';

export { WhaleFollower, parseFollowerSettings, DEFAULT_FOLLOWER_SETTINGS, type FollowerSettings } from './whale-follower.js';

/** `[strategy] plugin = "../dist/strategy/index.js"`: follow whale flow with small paper orders. */
export const plugin = definePlugin({
  name: '@cwts/reference-app/strategy',
  kind: 'strategy',
  coreApi: CORE_API_VERSION,
  register({ registrar, config }) {
    const settings = parseFollowerSettings(config);
    registrar.factory(TOKENS.Strategy, (c) => new WhaleFollower(settings, c.resolve(TOKENS.Logger).child({ strategy: 'whale-follower' })));
  },
});
