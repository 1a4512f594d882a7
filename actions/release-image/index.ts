import * as core from '@actions/core';

core.setFailed('release-image is not implemented yet');
