import { CORE_API_VERSION, definePlugin, TOKENS } from '@cwts/core';
import { parseWhaleSettings, RobustWhaleDetector } from './robust-whale.js';

export { RobustWhaleDetector, parseWhaleSettings, DEFAULT_WHALE_SETTINGS, type WhaleSettings } from './robust-whale.js';

/** `[detectors.whale] plugin = "../dist/detectors/index.js"`: the reference app's whale detector. */
export const plugin = definePlugin({
  name: '@cwts/reference-app/detectors',
  kind: 'detector',
  coreApi: CORE_API_VERSION,
  register({ registrar, config, instanceName }) {
    const settings = parseWhaleSettings(config);
    registrar.value(TOKENS.Detector, new RobustWhaleDetector(instanceName, settings));
  },
});
