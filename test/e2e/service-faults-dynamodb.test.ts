import { describeServiceFaults } from './service-faults';

describeServiceFaults('dynamodb');
