// Every script runs on the Node pinned in devDependencies (the `node` package), not the machine's.
const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  console.error(
    `nodeplan needs Node >= 22 (found ${process.version}); run through npm so the pinned Node 24 is used.`,
  );
  process.exit(1);
}
console.error(`node ${process.version}`);
