import * as core from '@actions/core';

core.setFailed('gitleaks-gate is not implemented yet');
