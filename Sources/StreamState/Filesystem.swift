internal import CRocksShim

/// The filesystem a path lives on, from `statfs(2)`'s magic number.
public struct FilesystemInfo: Sendable, Hashable {
    /// Short name: "ext4", "xfs", "btrfs", "tmpfs", "overlayfs", "nfs", ...; "unknown(0x…)" otherwise.
    public var name: String
    /// NFS, SMB/CIFS, Ceph, AFS, 9p, Lustre, FUSE (which may be remote, e.g. sshfs).
    public var isNetwork: Bool

    /// Detects the filesystem of `path` (an existing file or directory).
    public static func of(path: String) -> FilesystemInfo? {
        var raw: UInt = 0
        guard streamctl_filesystem_magic(path, &raw) == 0 else { return nil }
        let magic = UInt32(truncatingIfNeeded: raw)
        if let known = magics[magic] { return FilesystemInfo(name: known.name, isNetwork: known.network) }
        return FilesystemInfo(name: "unknown(0x\(String(magic, radix: 16)))", isNetwork: false)
    }

    // linux/magic.h and the filesystems' own headers.
    private static let magics: [UInt32: (name: String, network: Bool)] = [
        0xEF53: ("ext4", false),  // ext2, ext3 and ext4 share it
        0x5846_5342: ("xfs", false),
        0x9123_683E: ("btrfs", false),
        0x0102_1994: ("tmpfs", false),
        0x858_458F6: ("ramfs", false),
        0x794C_7630: ("overlayfs", false),
        0x2FC1_2FC1: ("zfs", false),
        0xF2F5_2010: ("f2fs", false),
        0x4D44: ("vfat", false),
        0x2011_BAB0: ("exfat", false),
        0x5346_544E: ("ntfs", false),
        0x7371_7368: ("squashfs", false),
        0x6969: ("nfs", true),
        0x517B: ("smb", true),
        0xFF53_4D42: ("cifs", true),
        0xFE53_4D42: ("smb2", true),
        0x6573_5546: ("fuse", true),
        0x00C3_6400: ("ceph", true),
        0x5346_414F: ("afs", true),
        0x0102_1997: ("9p", true),
        0x0BD0_0BD0: ("lustre", true),
        0x0116_1970: ("gfs2", true),
        0x7461_636F: ("ocfs2", true),
    ]
}
