import { describeServiceFaults } from './service-faults';

describeServiceFaults('redis');
