/**
 * The user's images on the training page: a folder of one subfolder per class, chosen with the
 * directory picker or dropped on the page, listed by the same rules as `--data` (a `classes.txt` included)
 * (src/data/image-tree.ts) into what the worker decodes, with a line saying what it holds.
 */
import { classList, listImageTree } from '../../src/data/image-tree.js';
import type { ImageFolderUpload, LabelledFiles } from '../shared/protocol.js';

/** A file of the folder, by its path inside it ('/'-separated). */
interface FolderFile {
  path: string;
  file: File;
}

/** The files a directory picker gave (`webkitRelativePath` is `folder/class/image`). */
export function pickedFolder(files: FileList): { name: string; files: FolderFile[] } {
  const all = [...files];
  const name = all[0]?.webkitRelativePath.split('/')[0] ?? 'folder';
  return { name, files: all.map((file) => ({ path: file.webkitRelativePath.split('/').slice(1).join('/'), file })) };
}

/** Every entry of a directory (readEntries gives them a hundred or so at a time). */
async function children(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const all: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

/** The files under a dropped directory, with their paths inside it. */
export async function droppedFolder(root: FileSystemDirectoryEntry): Promise<{ name: string; files: FolderFile[] }> {
  const files: FolderFile[] = [];
  const walk = async (dir: FileSystemDirectoryEntry, prefix: string): Promise<void> => {
    for (const entry of await children(dir)) {
      if (entry.isDirectory) await walk(entry as FileSystemDirectoryEntry, `${prefix}${entry.name}/`);
      else
        files.push({
          path: `${prefix}${entry.name}`,
          file: await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject)),
        });
    }
  };
  await walk(root, '');
  return { name: root.name, files };
}

/**
 * The folder as the worker takes it (throws a DataError naming what is wrong with it), and a line saying what it holds.
 */
export async function folderUpload({ name, files }: { name: string; files: FolderFile[] }): Promise<{
  upload: ImageFolderUpload;
  summary: string;
}> {
  const list = files.find((f) => f.path === 'classes.txt');
  const listing = listImageTree(
    name,
    files.map((f) => f.path),
    list && classList(await list.file.text()),
  );
  const part = (images: { index: number; label: number }[]): LabelledFiles => ({
    files: images.map((i) => files[i.index].file),
    labels: images.map((i) => i.label),
  });
  const upload: ImageFolderUpload = {
    name,
    classNames: listing.classNames,
    train: part(listing.train),
    ...(listing.test && { test: part(listing.test) }),
  };
  return { upload, summary: summaryOf(upload, listing.ignored.length) };
}

const count = (n: number, what: string, plural = `${what}s`) =>
  `${n.toLocaleString('en-US')} ${n === 1 ? what : plural}`;

/** `pets: 3 classes, 2,000 images (cat 700, dog 650, fish 650); 10% held out to test on`. */
function summaryOf(upload: ImageFolderUpload, ignored: number): string {
  const perClass = upload.classNames.map(
    (name, label) => `${name} ${upload.train.labels.filter((l) => l === label).length.toLocaleString('en-US')}`,
  );
  const shown = perClass.length > 10 ? [...perClass.slice(0, 10), '…'] : perClass;
  const test = upload.test
    ? `; ${count(upload.test.files.length, 'test image')} in its own folder`
    : '; 10% held out to test on';
  const skipped =
    ignored > 0 ? `; ${count(ignored, 'file')} that ${ignored === 1 ? 'is' : 'are'} not an image skipped` : '';
  return (
    `${upload.name}: ${count(upload.classNames.length, 'class', 'classes')}, ` +
    `${count(upload.train.files.length, 'image')} (${shown.join(', ')})${test}${skipped}`
  );
}
