import * as core from '@actions/core';

core.setFailed('verify-ready is not implemented yet');
