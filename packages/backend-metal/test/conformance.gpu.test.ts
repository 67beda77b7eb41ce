// The shared compute conformance suite against the Metal backend (macOS with a Metal GPU).
// Elsewhere every test skips with the probe's reason ("Metal needs macOS").
import { describeComputeConformance } from '@cwts/core/testing';
import { metalProvider } from '../src/index.js';

describeComputeConformance('metal', () => metalProvider);
