module.exports = {
  displayName: 'stages',
  preset: '../../jest.preset.js',
  rootDir: '.',
};
