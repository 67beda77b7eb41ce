import fc from 'fast-check';

// A property test that names a maximum (an array's maxLength, a record's maxKeys) gets values up
// to it. fast-check 4 otherwise generates at its base size ("small": about ten elements) whatever
// the maximum says, so a flow test written for 60 steps ran about 10, and a fill-order bug in the
// sim venue's history stayed hidden until the flows were longer (docs/testing.md).
fc.configureGlobal({ ...fc.readConfigureGlobal(), defaultSizeToMaxWhenMaxSpecified: true });
