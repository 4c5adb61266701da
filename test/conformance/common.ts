export * from '../../core/testing/common.js';
