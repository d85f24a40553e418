module.exports = {
  displayName: 'm1',
  preset: '../../jest.preset.js',
  rootDir: '.',
};
