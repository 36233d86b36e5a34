// Loads echo.proto for the Node.js echo apps (@grpc/grpc-js with
// @grpc/proto-loader from tests/node) and holds what both apps share.
const path = require('path');

const modules = path.join(__dirname, '..', '..', '..', 'node', 'node_modules');
const grpc = require(path.join(modules, '@grpc', 'grpc-js'));
const loader = require(path.join(modules, '@grpc', 'proto-loader'));

const definition = loader.loadSync(path.join(__dirname, 'echo.proto'), { keepCase: true, defaults: true });
const Echo = grpc.loadPackageDefinition(definition).sonde.test.Echo;

module.exports = { grpc, Echo };
