import * as core from '@actions/core';

core.setFailed('deploy-staging is not implemented yet');
