module.exports = {
  displayName: 'video',
  preset: '../../jest.preset.js',
  rootDir: '.',
};
