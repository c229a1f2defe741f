/*
 * copy_file_range: both handles, both offsets, the length and the flags go
 * to JS like any request; JS answers with replyWrite(id, bytes copied) or
 * an errno. ENOSYS makes the kernel stop sending the op for the mount's
 * lifetime (fc->no_copy_file_range), EOPNOTSUPP and EXDEV make it fall back
 * to its splice copy for this call only.
 */
#include "fuse-addon.h"

#define SESS(req) ((struct cf_session *)fuse_req_userdata(req))

static void op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in, struct fuse_file_info *fi_in,
                               fuse_ino_t ino_out, off_t off_out, struct fuse_file_info *fi_out,
                               size_t len, int flags) {
  struct cf_request *r = cf_request_new(CF_COPY_FILE_RANGE, req, ino_in);
  if (r) {
    r->ino2 = ino_out;
    r->fh = fi_in->fh; r->has_fh = 1; r->off = (uint64_t)off_in;
    r->fh2 = fi_out->fh; r->off2 = (uint64_t)off_out;
    r->len = (uint64_t)len; r->flags = flags;
  }
  cf_post(SESS(req), req, r);
}

void cf_ops_copy(struct fuse_lowlevel_ops *ops) {
  ops->copy_file_range = op_copy_file_range;
}
