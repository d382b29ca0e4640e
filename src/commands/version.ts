import {BaseCommand} from '../cli/base.js'

export default class Version extends BaseCommand {
  static override description = 'Print the version of raftctl (and of Node.js it runs on); the same as raftctl --version'
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version --json']

  async run(): Promise<unknown> {
    await this.parse(Version)
    if (!this.jsonEnabled()) this.log(this.config.userAgent)
    return {version: this.config.version, node: process.version, platform: process.platform, arch: process.arch}
  }
}
