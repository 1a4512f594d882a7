import * as core from '@actions/core';

core.setFailed('promote-prod is not implemented yet');
