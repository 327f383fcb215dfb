import base from './eslint.config.js';
export default [
  ...base,
  {
    files: ['**/*.test.ts'],
    languageOptions: { parserOptions: { projectService: false, project: ['./tsconfig.test.json'], tsconfigRootDir: import.meta.dirname } },
  },
];
