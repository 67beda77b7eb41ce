import { definePlugin, TOKENS } from '@cwts/core';
import { parseWhaleSettings, RobustWhaleDetector } from './robust-whale.js';

export { RobustWhaleDetector, parseWhaleSettings, DEFAULT_WHALE_SETTINGS, type WhaleSettings } from './robust-whale.js';

/** `[detectors.whale] plugin = "../dist/detectors/index.js"`: the reference app's whale detector. */
export const plugin = definePlugin({
  name: '@cwts/reference-app/detectors',
  kind: 'detector',
  // The core API this plugin was built against and needs, as a literal. Never CORE_API_VERSION:
  // that is the installed core's (a peer dependency), so it would claim whatever core it is
  // installed beside and the loader's version check could never refuse it (docs/versioning.md).
  coreApi: '1.6',
  register({ registrar, config, instanceName }) {
    const settings = parseWhaleSettings(config);
    registrar.value(TOKENS.Detector, new RobustWhaleDetector(instanceName, settings));
  },
});
