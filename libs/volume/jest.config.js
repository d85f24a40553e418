module.exports = {
  displayName: 'volume',
  preset: '../../jest.preset.js',
  rootDir: '.',
};
