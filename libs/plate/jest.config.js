module.exports = {
  displayName: 'plate',
  preset: '../../jest.preset.js',
  rootDir: '.',
};
