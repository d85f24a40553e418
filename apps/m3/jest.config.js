module.exports = {
  displayName: 'm3',
  preset: '../../jest.preset.js',
  rootDir: '.',
};
