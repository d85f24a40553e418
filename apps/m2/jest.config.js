module.exports = {
  displayName: 'm2',
  preset: '../../jest.preset.js',
  rootDir: '.',
};
