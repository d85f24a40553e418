module.exports = {
  displayName: 's3-store',
  preset: '../../jest.preset.js',
  rootDir: '.',
};
