import { MissingChannels } from '../../components/EmptyState';
import { PageLayout } from '../../components/Layout';

export function TranslatePage() {
  return (
    <PageLayout title="Translate" testId="page-translate">
      <MissingChannels what="Translate" channels={[]} />
    </PageLayout>
  );
}
