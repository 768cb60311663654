// Writes resource-handler-permissions.json: for each resource type the packaged templates use, the
// actions CloudFormation calls with the execution role (handlers.create/update/delete.permissions of
// the type's registry schema), the type's tagging section (whether it is taggable, and the actions
// tagging it needs: stack tags reach every taggable resource) and its top-level property names (an
// exemption in not-granted.json names the property whose use would make a handler call the action).
// Rerun when a new type appears in a template:
//   node test/deploy/handler-permissions/extract.mjs <folder of schemas> "<source>" TYPE...
// The folder holds the registry schemas as aws-lambda-function.json etc.: either
//   aws cloudformation describe-type --type RESOURCE --type-name AWS::Lambda::Function --query Schema --output text
// per type, or a checkout of a repository that keeps them (the source names which, and its commit).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [folder, source, ...types] = process.argv.slice(2);
if (!folder || !source || types.length === 0) {
  console.error('usage: extract.mjs <schema folder> "<source>" AWS::Service::Type ...');
  process.exit(2);
}
const HANDLERS = ['create', 'update', 'delete'];
const entries = types.sort().map((type) => {
  const file = join(folder, `${type.toLowerCase().replaceAll('::', '-')}.json`);
  const { handlers = {}, tagging = {}, properties = {} } = JSON.parse(readFileSync(file, 'utf8'));
  return [
    type,
    {
      ...Object.fromEntries(HANDLERS.map((name) => [name, [...(handlers[name]?.permissions ?? [])].sort()])),
      tagging: { taggable: tagging.taggable === true, permissions: [...(tagging.permissions ?? [])].sort() },
      properties: Object.keys(properties).sort(),
    },
  ];
});
const output = { source, types: Object.fromEntries(entries) };
writeFileSync(new URL('./resource-handler-permissions.json', import.meta.url), `${JSON.stringify(output, null, 2)}\n`);
console.log(`${entries.length} types written`);
